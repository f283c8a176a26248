include { PREPARE_DATA   } from '../subworkflows/local/prepare_data'
include { TRAIN_EVALUATE } from '../subworkflows/local/train_evaluate'
include { VARIANT_ANALYSIS } from '../subworkflows/local/score_variants'

// PREPARE_DATA -> TRAIN_MODEL -> EVALUATE_MODEL; SCORE_VARIANTS -> COMPARE_GROUPS
workflow STAGEVEP {
    take:
    samples      // validated samplesheet rows: [meta, bigwig, peaks]
    stage_order  // track order
    fasta        // path

    main:
    def blacklist = params.blacklist ? file(params.blacklist, checkIfExists: true) : []
    PREPARE_DATA(samples, stage_order, fasta, blacklist)
    def pretrained = params.pretrained_weights == 'none' ? 'none' : file(params.pretrained_weights, checkIfExists: true)
    TRAIN_EVALUATE(PREPARE_DATA.out.targets, fasta, pretrained, stage_order)
    ch_versions = PREPARE_DATA.out.versions.mix(TRAIN_EVALUATE.out.versions)

    if (params.variants) {
        def groups = params.groups ? file(params.groups, checkIfExists: true) : []
        VARIANT_ANALYSIS(TRAIN_EVALUATE.out.checkpoint, file(params.variants, checkIfExists: true), groups, fasta,
            PREPARE_DATA.out.bigwigs, !params.skip_group_comparison)
        ch_versions = ch_versions.mix(VARIANT_ANALYSIS.out.versions)
    }

    // one software_versions.yml for the run, one entry per process
    ch_versions
        .map { it.text }
        .unique()
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", sort: true, newLine: false)
}
