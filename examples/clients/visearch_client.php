<?php
// A visearch client in PHP with the curl extension (Debian: php-cli and php-curl): detects the objects in a
// photo, imports a product into the catalog, searches the catalog with the photo, and deletes the product
// again.
//
//   VISEARCH_URL=http://127.0.0.1:8080 VISEARCH_API_KEY=... php examples/clients/visearch_client.php photo.jpg
//
// Environment: VISEARCH_URL (default http://127.0.0.1:8080), VISEARCH_API_KEY (the first line of the server's
// --api-key-file; empty when it has none), VISEARCH_TIMEOUT (seconds per try, default 5: a little above the
// server's --timeout-ms, e.g. 4000), VISEARCH_PRODUCT_ID (default example-sku-1).
//
// As docs/integration.md says: the key on every call, a timeout on every call, and a retry of 503 (honouring
// Retry-After) and of connection errors only, with back-off and jitter, 3 tries at most; never a 4xx. Keep
// the key on your server: never send it to a browser.
declare(strict_types=1);

final class VisearchError extends RuntimeException
{
    public function __construct(public readonly int $status, public readonly string $errorCode, string $message)
    {
        parent::__construct("HTTP $status $errorCode: $message");
    }
}

final class Visearch
{
    private string $base;

    public function __construct(string $base, private string $key = '', private float $timeout = 5.0, private int $tries = 3)
    {
        $this->base = rtrim($base, '/');
    }

    /**
     * One API call; returns the decoded JSON answer. $body: a string (sent as is) or an array of form fields
     * (multipart/form-data; a CURLFile is a file).
     */
    public function call(string $method, string $path, string|array|null $body = null, ?string $contentType = null, array $query = []): array
    {
        $url = $this->base . $path . ($query ? '?' . http_build_query($query) : '');
        $headers = ['X-Request-Id: example-php-' . bin2hex(random_bytes(6))];
        if ($this->key !== '') {
            $headers[] = 'X-API-Key: ' . $this->key;
        }
        if ($contentType !== null) {
            $headers[] = 'Content-Type: ' . $contentType;
        }
        for ($attempt = 1; ; $attempt++) {
            $retryAfter = null;
            $curl = curl_init($url);
            curl_setopt_array($curl, [
                CURLOPT_CUSTOMREQUEST => $method,
                CURLOPT_HTTPHEADER => $headers,
                CURLOPT_RETURNTRANSFER => true,
                CURLOPT_CONNECTTIMEOUT_MS => 2000,
                CURLOPT_TIMEOUT_MS => (int) ($this->timeout * 1000),
                CURLOPT_HEADERFUNCTION => function ($curl, string $line) use (&$retryAfter): int {
                    if (preg_match('/^retry-after:\s*(\d+)/i', $line, $m)) {
                        $retryAfter = (int) $m[1];
                    }
                    return strlen($line);
                },
            ]);
            if ($body !== null) {
                curl_setopt($curl, CURLOPT_POSTFIELDS, $body);
            }
            $text = curl_exec($curl);
            $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
            $failure = $text === false ? curl_error($curl) : null;
            curl_close($curl);

            if ($failure === null) {
                $answer = json_decode((string) $text, true) ?? [];
                if ($status >= 200 && $status < 300) {
                    return $answer;
                }
                // 503: the queue is full or the models are still loading. Retry it; never a 4xx.
                if ($status !== 503 || $attempt === $this->tries) {
                    throw new VisearchError($status, $answer['error']['code'] ?? "http_$status", $answer['error']['message'] ?? (string) $text);
                }
                $wait = (float) ($retryAfter ?? $attempt);
            } else {
                // A connection error or a timeout.
                if ($attempt === $this->tries) {
                    throw new RuntimeException("$method $path: $failure");
                }
                fwrite(STDERR, "visearch_client.php: $method $path: $failure\n");
                $wait = (float) $attempt;
            }
            $wait += random_int(100, 350) / 1000;  // jitter
            fwrite(STDERR, sprintf("visearch_client.php: %s %s: retrying in %.1fs\n", $method, $path, $wait));
            usleep((int) ($wait * 1e6));
        }
    }

    /** Objects in the photo: the raw image as the body, parameters in the query string. */
    public function detect(string $jpeg, float $scoreThreshold = 0.4): array
    {
        return $this->call('POST', '/v1/detect', $jpeg, 'image/jpeg', ['score_threshold' => $scoreThreshold]);
    }

    /** Imports (or replaces, by id) products; their images go inline. */
    public function importProducts(array $products): array
    {
        return $this->call('POST', '/v1/products', json_encode($products, JSON_THROW_ON_ERROR), 'application/json');
    }

    /** Products per object in the photo: multipart, the file in the field "image", parameters as fields. */
    public function search(string $imagePath, int $limit = 3): array
    {
        return $this->call('POST', '/v1/search', ['image' => new CURLFile($imagePath, 'image/jpeg'), 'limit' => (string) $limit]);
    }

    public function deleteProduct(string $id): array
    {
        return $this->call('DELETE', '/v1/products/' . rawurlencode($id));
    }
}

if ($argc !== 2) {
    fwrite(STDERR, "usage: visearch_client.php IMAGE.jpg\n");
    exit(2);
}
$image = $argv[1];
$jpeg = file_get_contents($image);
if ($jpeg === false) {
    fwrite(STDERR, "visearch_client.php: cannot read $image\n");
    exit(1);
}
$client = new Visearch(getenv('VISEARCH_URL') ?: 'http://127.0.0.1:8080', getenv('VISEARCH_API_KEY') ?: '', (float) (getenv('VISEARCH_TIMEOUT') ?: 5));
$productId = getenv('VISEARCH_PRODUCT_ID') ?: 'example-sku-1';

try {
    $detected = $client->detect($jpeg);
    $objects = array_map(fn (array $o): string => "{$o['label']} {$o['score']}", $detected['objects']);
    printf("detect: %d objects: %s\n", count($detected['objects']), implode(', ', $objects));

    $report = $client->importProducts([[
        'id' => $productId, 'title' => 'Example product', 'category' => 'Examples', 'price' => 9.5, 'currency' => 'EUR',
        'attributes' => ['source' => 'visearch_client.php'], 'images' => ['data:image/jpeg;base64,' . base64_encode($jpeg)],
    ]]);
    printf("import: %s (inserted %d, updated %d)\n", $productId, $report['inserted'], $report['updated']);

    foreach ($client->search($image)['objects'] as $o) {
        $products = array_map(fn (array $p): string => "{$p['id']} ({$p['score']})", $o['products']);
        printf("search: %s -> %s\n", $o['label'], implode(', ', $products));
    }

    printf("delete: %s\n", $client->deleteProduct($productId)['deleted']);
} catch (RuntimeException $error) {
    fwrite(STDERR, 'visearch_client.php: ' . $error->getMessage() . "\n");
    exit(1);
}
