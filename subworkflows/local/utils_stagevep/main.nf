// Input validation and run bookkeeping without plugins (nf-schema cannot be installed offline). Everything
// here runs before any task is submitted; each job lives in its own file:
//   schema.nf       nextflow_schema.json flattened, and --help
//   validate.nf     validateParameters: every parameter problem at once
//   samplesheet.nf  readSamplesheet: the CSV parsed and every row checked, and the stage order
//   params_file.nf  writeParams: pipeline_info/params_<time>.json
// This file gathers them for main.nf (and for the tests that call them the same way).

include { helpMessage                  } from './schema'
include { validateParameters           } from './validate'
include { readSamplesheet; stageOrder  } from './samplesheet'
include { writeParams                  } from './params_file'
