#!/usr/bin/env nextflow
/*
 * stagevep: learns stage-specific enhancer activity from H3K27ac signal with a
 * finetuned Enformer and scores how variants change it.
 * Entry point only: validate params and samplesheet, run STAGEVEP, print a summary.
 */
nextflow.enable.dsl = 2
// channel topics (stable from Nextflow 25.04): module outputs declared with `topic: report` feed the report
nextflow.preview.topic = true

include { STAGEVEP } from './workflows/stagevep'
include { validateParameters; helpMessage; readSamplesheet; stageOrder; writeParams } from './subworkflows/local/utils_stagevep'

workflow {
    def schema = "${projectDir}/nextflow_schema.json"
    if (params.help) {
        log.info helpMessage(schema)
        return
    }
    validateParameters(params, schema)
    def fasta = file(params.fasta, checkIfExists: true)
    writeParams(params, params.outdir)
    if (params.checkpoint) {
        log.info "stagevep ${workflow.manifest.version}: scoring ${params.variants} with ${params.checkpoint} " +
            "(no data preparation, no training); results in ${params.outdir}"
        STAGEVEP(Channel.empty(), [], fasta)
        return
    }
    def samples = readSamplesheet(params.input, "${projectDir}/assets/schema_input.json")
    log.info "stagevep ${workflow.manifest.version}: ${samples.size()} replicate(s) of ${stageOrder(samples).size()} stage(s) " +
        "(${stageOrder(samples).join(', ')}); results in ${params.outdir}"

    STAGEVEP(Channel.fromList(samples), stageOrder(samples), fasta)
}

workflow.onComplete {
    if (params.help) return
    if (workflow.success) {
        log.info "stagevep finished: results are in ${params.outdir} (${params.checkpoint ? '' : 'prepare/, train/, evaluate/, '}variants/, report/report.html, pipeline_info/)"
    } else {
        log.error "stagevep failed: see the error above and ${params.outdir}/pipeline_info/ for the execution report"
    }
}
