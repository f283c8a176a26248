include { PREFLIGHT       } from '../../../modules/local/preflight'
include { AVERAGE_BIGWIGS } from '../../../modules/local/average_bigwigs'
include { UNION_PEAKS     } from '../../../modules/local/union_peaks'
include { MAKE_WINDOWS    } from '../../../modules/local/make_windows'
include { MAKE_TARGETS    } from '../../../modules/local/make_targets'
include { PREPARE_QC      } from '../../../modules/local/prepare_qc'

// samplesheet rows -> preflight -> per-stage averaged bigWigs + union peaks -> windows -> targets.h5 -> QC
workflow PREPARE_DATA {
    take:
    ch_samples   // channel: [meta (id, stage, replicate), bigwig, peaks], one per samplesheet row, in its order
    stage_order  // list of stage names in order of first appearance (= track order)
    ch_fasta     // channel (value): [fasta, the user's .fai or [] (then PREFLIGHT builds it)]
    blacklist    // path, or [] for none

    main:
    ch_bigwigs = ch_samples.map { _meta, bigwig, _peaks -> bigwig }.collect()
    ch_peaks = ch_samples.map { _meta, _bigwig, peaks -> peaks }.collect()
    PREFLIGHT(ch_fasta.map { fasta, _fai -> fasta }, ch_fasta.map { _fasta, fai -> fai }, ch_bigwigs, ch_peaks, blacklist)
    // [fasta, fai] for every later task (a value channel: read by each task)
    ch_fasta_fai = ch_fasta
        .combine(PREFLIGHT.out.fai)
        .map { fasta, _user_fai, fai -> [fasta, fai] }
        .first()

    // heavy work starts only once the preflight has passed; each stage's replicates in samplesheet order
    ch_stage_bigwigs = ch_samples
        .map { meta, bigwig, _peaks -> [meta.stage, bigwig] }
        .groupTuple()
        .combine(PREFLIGHT.out.ok)
        .map { stage, bigwigs, _ok -> [[id: stage], bigwigs] }
    AVERAGE_BIGWIGS(ch_stage_bigwigs, ch_fasta_fai)

    ch_union_inputs = ch_peaks
        .map { peaks -> [[id: 'stagevep'], peaks] }
        .combine(PREFLIGHT.out.ok)
        .map { meta, peaks, _ok -> [meta, peaks] }
        .first()  // a value channel, as every input of the union: the targets and the model downstream are too
    UNION_PEAKS(ch_union_inputs)

    MAKE_WINDOWS(UNION_PEAKS.out.bed, ch_fasta_fai, blacklist)

    ch_tracks = AVERAGE_BIGWIGS.out.bigwig
        .toSortedList { a, b -> stage_order.indexOf(a[0].id) <=> stage_order.indexOf(b[0].id) }
        .map { items -> [items.collect { it[0].id }, items.collect { it[1] }] }
    MAKE_TARGETS(MAKE_WINDOWS.out.bed, ch_tracks, ch_fasta_fai)

    // QC of the replicates (over the union peaks), the targets and the split
    ch_qc_inputs = UNION_PEAKS.out.bed
        .join(MAKE_WINDOWS.out.bed)
        .join(MAKE_TARGETS.out.targets)
    ch_replicates = ch_samples
        .toList()
        .map { rows -> [rows.collect { [it[0].stage, it[0].replicate] }, rows.collect { it[1] }] }
    PREPARE_QC(ch_qc_inputs, ch_replicates)

    emit:
    targets   = MAKE_TARGETS.out.targets      // [meta, targets.h5]
    windows   = MAKE_WINDOWS.out.bed          // [meta, windows.bed]
    qc        = PREPARE_QC.out.qc             // the QC tables and figures
    bigwigs   = AVERAGE_BIGWIGS.out.bigwig    // [meta (stage), mean.bw]
    fasta_fai = ch_fasta_fai                  // [fasta, fai], value channel
}
