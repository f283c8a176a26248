include { PREFLIGHT       } from '../../modules/local/preflight'
include { AVERAGE_BIGWIGS } from '../../modules/local/average_bigwigs'
include { UNION_PEAKS     } from '../../modules/local/union_peaks'
include { MAKE_WINDOWS    } from '../../modules/local/make_windows'
include { MAKE_TARGETS    } from '../../modules/local/make_targets'
include { PREPARE_QC      } from '../../modules/local/prepare_qc'

// samplesheet rows -> preflight -> per-stage averaged bigWigs + union peaks -> windows -> targets.h5 -> QC
workflow PREPARE_DATA {
    take:
    samples      // list of [meta (id, stage, replicate), bigwig, peaks], already validated
    stage_order  // list of stage names in order of first appearance (= track order)
    fasta        // path
    blacklist    // path, or [] for none

    main:
    ch_versions = Channel.empty()

    // the user's .fai is reused for a plain FASTA; a bgzipped one is indexed by pyfaidx in PREFLIGHT, as before
    def fai = file("${params.fasta}.fai")
    def user_fai = fai.exists() && !params.fasta.toString().endsWith('.gz') ? fai : []
    PREFLIGHT(fasta, user_fai, samples.collect { it[1] }, samples.collect { it[2] }, blacklist)
    ch_versions = ch_versions.mix(PREFLIGHT.out.versions)
    // [fasta, fai] for every later task (a value channel, as PREFLIGHT's inputs are all values: read by each task)
    ch_fasta = PREFLIGHT.out.fai.map { index -> [fasta, index] }

    // heavy work starts only once the preflight has passed
    ch_stage_bigwigs = PREFLIGHT.out.ok.flatMap {
        stage_order.collect { stage -> [[id: stage], samples.findAll { it[0].stage == stage }.collect { it[1] }] }
    }
    AVERAGE_BIGWIGS(ch_stage_bigwigs, ch_fasta)
    // every task's versions.yml (identical texts are merged later): `.first()` picked whichever stage finished
    // first, so REPORT's inputs, and its -resume hash, changed from run to run
    ch_versions = ch_versions.mix(AVERAGE_BIGWIGS.out.versions)

    UNION_PEAKS(PREFLIGHT.out.ok.map { [[id: 'stagevep'], samples.collect { it[2] }] })
    ch_versions = ch_versions.mix(UNION_PEAKS.out.versions)

    MAKE_WINDOWS(UNION_PEAKS.out.bed, ch_fasta, blacklist)
    ch_versions = ch_versions.mix(MAKE_WINDOWS.out.versions)

    ch_tracks = AVERAGE_BIGWIGS.out.bigwig
        .toSortedList { a, b -> stage_order.indexOf(a[0].id) <=> stage_order.indexOf(b[0].id) }
        .map { items -> [items.collect { it[0].id }, items.collect { it[1] }] }
    MAKE_TARGETS(MAKE_WINDOWS.out.bed, ch_tracks, ch_fasta)
    ch_versions = ch_versions.mix(MAKE_TARGETS.out.versions)

    // QC of the replicates (over the union peaks), the targets and the split
    ch_qc_inputs = UNION_PEAKS.out.bed
        .join(MAKE_WINDOWS.out.bed)
        .join(MAKE_TARGETS.out.targets)
    ch_replicates = [samples.collect { [it[0].stage, it[0].replicate] }, samples.collect { it[1] }]
    PREPARE_QC(ch_qc_inputs, ch_replicates)
    ch_versions = ch_versions.mix(PREPARE_QC.out.versions)

    emit:
    targets  = MAKE_TARGETS.out.targets      // [meta, targets.h5]
    windows  = MAKE_WINDOWS.out.bed          // [meta, windows.bed]
    qc       = PREPARE_QC.out.qc             // prepare/qc/* files
    bigwigs  = AVERAGE_BIGWIGS.out.bigwig    // [meta (stage), mean.bw]
    fasta_fai = ch_fasta                     // [fasta, fai], value channel
    versions = ch_versions
}
