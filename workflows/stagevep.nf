include { PREPARE_DATA     } from '../subworkflows/local/prepare_data'
include { TRAIN_EVALUATE   } from '../subworkflows/local/train_evaluate'
include { VARIANT_ANALYSIS } from '../subworkflows/local/variant_analysis'
include { REPORT           } from '../modules/local/report'
include { DISCOVER_MOTIFS  } from '../modules/local/discover_motifs'

import groovy.json.JsonOutput

// PREPARE_DATA -> TRAIN_MODEL -> EVALUATE_MODEL; VARIANT_ANALYSIS (preflight, shards, background, merge,
// group comparison). With --checkpoint (score-only): VARIANT_ANALYSIS alone, on the given model.
workflow STAGEVEP {
    take:
    ch_samples   // channel: validated samplesheet rows [meta, bigwig, peaks]; empty in score-only runs
    stage_order  // track order; [] in score-only runs (the checkpoint's tracks)
    fasta        // path

    main:
    // the user's .fai is reused for a plain FASTA; a bgzipped one is indexed by pyfaidx, as before
    def fai = file("${params.fasta}.fai")
    def user_fai = fai.exists() && !params.fasta.toString().endsWith('.gz') ? fai : []
    if (params.checkpoint) {
        // score-only: the trained model brings geometry, tracks and transforms; observed signal from --bigwigs
        ch_fasta = Channel.value([fasta, user_fai])
        ch_checkpoint = Channel.value([[id: 'stagevep'], file(params.checkpoint, checkIfExists: true)])
        ch_bigwigs = Channel.fromList(stageFiles(params.bigwigs))
    } else {
        def blacklist = params.blacklist ? file(params.blacklist, checkIfExists: true) : []
        PREPARE_DATA(ch_samples, stage_order, Channel.value([fasta, user_fai]), blacklist)
        def pretrained = params.pretrained_weights == 'none' ? 'none' : file(params.pretrained_weights, checkIfExists: true)
        TRAIN_EVALUATE(PREPARE_DATA.out.targets, PREPARE_DATA.out.fasta_fai, pretrained)
        ch_fasta = PREPARE_DATA.out.fasta_fai
        ch_checkpoint = TRAIN_EVALUATE.out.checkpoint
        ch_bigwigs = PREPARE_DATA.out.bigwigs
    }

    if (params.discover_motifs) {
        DISCOVER_MOTIFS(ch_checkpoint, ch_fasta,
            params.motif_database && !(params.motif_database.toString() ==~ /(?i)jaspar(\d{4})?/)
                ? file(params.motif_database, checkIfExists: true) : [])
    }

    if (params.variants) {
        def groups = params.groups ? file(params.groups, checkIfExists: true) : []
        VARIANT_ANALYSIS(ch_checkpoint, file(params.variants, checkIfExists: true), groups, ch_fasta, ch_bigwigs,
            !params.skip_group_comparison, params.background_variants,
            "n=${params.background_variants} seed=${params.seed} central_bins=${params.central_bins ?: 'model'} " +
            "rc=${params.rc_ensemble} precision=${params.precision} shared=${params.share_reference}",
            params.plot_variants || params.plot_top_n > 0, params.attribute_variants || params.attribute_top_n > 0)
    }

    // every task's versions.yml: module outputs declared with `topic: versions` (REPORT's own comes after)
    ch_versions = channel.topic('versions')

    // report.html from every module output declared with `topic: report` as [section, file(s)]: each file is
    // filed as section/name (evaluate/plots/scatter_CS13.png), whatever publishDir does with it
    ch_report = channel.topic('report')
        .flatMap { section, files -> (files instanceof List ? files : [files]).collect { f -> ["${section}/${f.name}".toString(), f] } }
        .toSortedList { a, b -> a[0] <=> b[0] }
        // a run that fails before any task wrote a report file (bad --variants in score-only mode) writes no
        // report: without this, whether REPORT ran on the empty list depended on how fast the run was cancelled
        .filter { it }
    // sorted inputs: a -resume run, whose cached tasks finish in another order, must find the same task hash
    REPORT(params.checkpoint ? [] : file(params.input), JsonOutput.toJson(params), ch_versions.toSortedList { a, b -> a.toString() <=> b.toString() },
        ch_report.map { it*.get(0) }, ch_report.map { it*.get(1) })

    // one software_versions.yml for the run, one entry per process
    ch_versions
        .mix(REPORT.out.versions)
        .map { it.text }
        .unique()
        .mix(Channel.of("Workflow:\n  Nextflow: ${workflow.nextflow.version}\n  stagevep: ${workflow.manifest.version}\n".toString()))
        .collectFile(name: 'software_versions.yml', storeDir: "${params.outdir}/pipeline_info", sort: true, newLine: false)

    emit:
    report = REPORT.out.html
}

// --bigwigs 'CS13=a.bw,CS14=b.bw' -> [[id: 'CS13'], a.bw], ...
def stageFiles(String spec) {
    if (!spec) return []
    return spec.split(',')*.trim().findAll().collect { item ->
        def (stage, path) = item.tokenize('=')
        [[id: stage], file(path, checkIfExists: true)]
    }
}
