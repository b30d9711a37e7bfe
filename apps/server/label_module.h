// The labelling routes of `visearch label` (a ServerModule; `visearch serve` does not run it):
//
//   GET    /v1/label/project                  data set, classes, counts, model, mapping, job progress
//   GET    /v1/label/images?status=&offset=&limit=   image list (status filter) with counts
//   GET    /v1/label/images/{id}              labels, proposals and version of one image (ETag: "version")
//   GET    /v1/label/images/{id}/image        the image, upright (EXIF orientation applied)
//   PUT    /v1/label/images/{id}/labels       save {"version", "boxes"} (If-Match may carry the version):
//                                             200 stored boxes + new version, 400 invalid payload (nothing
//                                             written), 409 conflict (someone saved first; nothing written)
//   POST   /v1/label/images/{id}/prelabel     run the detector on the image (an inference worker), store and
//                                             return its proposals
//   GET    /v1/label/jobs/prelabel            progress of "pre-label all unlabelled"
//   POST   /v1/label/jobs/prelabel            start it (202; 503 when one runs)
//   DELETE /v1/label/jobs/prelabel            cancel it
//   GET    /v1/label/jobs/train               progress of the training run (epoch, loss, val AP, ETA, result)
//   POST   /v1/label/jobs/train               train on the labels saved so far, in the background (202; 409
//                                             while one runs); {"epochs", "img_size", "time_budget_minutes",
//                                             "freeze"} are optional
//   DELETE /v1/label/jobs/train               stop it (a checkpoint stays for `visearch train --resume`)
//   POST   /v1/label/model                    pre-label with another model from now on {"spec": PATH}
//
// The project (labeling::LabelProject) is opened by the CLI before the server starts; the module holds it
// and the background job. Single-image pre-labels run on the server's inference workers behind the bounded
// queue (ServerContext::run_on_worker); the bulk job has its own detector and thread (prelabel_job.h), so
// it never holds a worker. Shapes: docs/labelling.md.
//
// Thread-safety: handlers run concurrently on HTTP threads; LabelProject and PrelabelJob are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "labeling/label_map.h"
#include "labeling/label_project.h"
#include "server/server_context.h"

namespace visearch::server {

struct LabelModuleOptions {
  std::shared_ptr<labeling::LabelProject> project;
  std::string model;       // the detector used for pre-labels (loaded by the server), by name
  std::string model_spec;  // how it was given (a name or a spec path), for the bulk job's own detector
  labeling::LabelMapping mapping;
  std::vector<std::string> model_dirs;   // for the background job's own detector
  std::string train_out;                 // where the Train action writes its model folders
  float default_score_threshold = 0.5F;  // the slider's initial value
};

ServerModule label_module(LabelModuleOptions options);

}  // namespace visearch::server
