include { SCORE_VARIANTS } from '../../modules/local/score_variants'
include { COMPARE_GROUPS } from '../../modules/local/compare_groups'
include { PLOT_VARIANTS  } from '../../modules/local/plot_variants'

workflow VARIANT_ANALYSIS {
    take:
    checkpoint        // [meta, best.pt]
    variants          // path: VCF or TSV
    groups            // path or [] (optional id/group TSV)
    fasta             // [fasta, fai], value channel
    bigwigs           // [meta (stage), <stage>.mean.bw]: observed signal in the per-variant panels
    compare           // boolean: run the group comparison

    main:
    SCORE_VARIANTS(checkpoint.map { meta, ckpt -> [meta, ckpt, variants, groups] }, fasta)
    ch_versions = SCORE_VARIANTS.out.versions
    if (compare) {
        COMPARE_GROUPS(SCORE_VARIANTS.out.scores)
        ch_versions = ch_versions.mix(COMPARE_GROUPS.out.versions)
    }
    if (params.plot_variants || params.plot_top_n > 0) {
        PLOT_VARIANTS(SCORE_VARIANTS.out.scores.join(SCORE_VARIANTS.out.tracks),
            bigwigs.map { it[1] }.collect().ifEmpty([]))
        ch_versions = ch_versions.mix(PLOT_VARIANTS.out.versions)
    }

    emit:
    scores   = SCORE_VARIANTS.out.scores
    versions = ch_versions
}
