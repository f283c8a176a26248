include { PREPARE_VARIANTS } from '../../../modules/local/prepare_variants'
include { SCORE_VARIANTS   } from '../../../modules/local/score_variants'
include { SCORE_BACKGROUND } from '../../../modules/local/score_background'
include { MERGE_SCORES     } from '../../../modules/local/merge_scores'
include { COMPARE_GROUPS   } from '../../../modules/local/compare_groups'
include { PLOT_VARIANTS    } from '../../../modules/local/plot_variants'
include { ATTRIBUTE_VARIANTS } from '../../../modules/local/attribute_variants'

// checkpoint + variants -> preflight and shards -> one scoring task per shard (+ the model's background, once)
// -> merged, calibrated scores (TSV, parquet, VCF) -> group comparison, per-variant panels
workflow VARIANT_ANALYSIS {
    take:
    checkpoint        // [meta, best.pt], value channel
    variants          // path: VCF or TSV
    groups            // path or [] (optional id/group TSV)
    fasta             // [fasta, fai or []], value channel
    bigwigs           // [meta (id: stage), bigWig]: observed signal in the per-variant panels
    compare           // boolean: run the group comparison
    background_n      // number of background SNVs; 0: no calibration
    background_settings // string: the scoring settings that a stored background must share
    plot              // boolean: draw per-variant panels (PLOT_VARIANTS)
    attribute         // boolean: attribute variants to bases (ATTRIBUTE_VARIANTS)

    main:
    PREPARE_VARIANTS(checkpoint.map { meta, ckpt -> [meta, ckpt, variants, groups] }, fasta)
    // [fasta, fai], indexed by the preflight when needed: read by every shard's task (a value channel, as the
    // checkpoint is: TRAIN_MODEL's output or the --checkpoint file)
    ch_fasta = PREPARE_VARIANTS.out.fasta

    // [meta + shard number, checkpoint, shard]: one task per shard
    ch_shards = PREPARE_VARIANTS.out.shards
        .flatMap { meta, shards -> (shards instanceof List ? shards : [shards]).collect { [meta, it] } }
        .combine(checkpoint.map { meta, ckpt -> ckpt })
        .map { meta, shard, ckpt -> [meta + [shard: (shard.name =~ /\d+/)[0]], ckpt, shard] }
    SCORE_VARIANTS(ch_shards, ch_fasta)

    // the shards' outputs, gathered in shard order (sorted: a -resume run must find the same MERGE_SCORES hash)
    ch_scored = SCORE_VARIANTS.out.scores.join(SCORE_VARIANTS.out.tracks, by: [0])
        .map { meta, scores, tracks -> [meta.findAll { k, _v -> k != 'shard' }, [meta.shard, scores, tracks]] }
        .groupTuple(by: 0)
        .map { meta, items ->
            def ordered = items.sort { it[0] }
            [meta, ordered.collect { it[1] }, ordered.collect { it[2] }]
        }

    ch_background = Channel.value([])
    if (background_n > 0) {
        SCORE_BACKGROUND(checkpoint.map { meta, ckpt -> [meta + [key: backgroundKey(ckpt, background_settings)], ckpt] },
            ch_fasta)
        ch_background = SCORE_BACKGROUND.out.background.map { meta, parquet, json -> [parquet, json] }
    }

    ch_merge = checkpoint
        .join(PREPARE_VARIANTS.out.manifest)
        .join(ch_scored)
        .map { meta, ckpt, manifest, scores, tracks -> [meta, ckpt, variants, manifest, scores, tracks] }
    MERGE_SCORES(ch_merge, ch_background)

    if (compare) {
        COMPARE_GROUPS(MERGE_SCORES.out.scores)
    }
    if (plot) {
        def ch_bigwigs = bigwigs
            .toSortedList { a, b -> a[0].id <=> b[0].id }
            .map { items -> [items.collect { it[0].id }, items.collect { it[1] }] }
        PLOT_VARIANTS(MERGE_SCORES.out.scores.join(MERGE_SCORES.out.tracks), ch_bigwigs)
    }

    if (attribute) {
        ATTRIBUTE_VARIANTS(checkpoint.join(MERGE_SCORES.out.scores), ch_fasta)
    }

    emit:
    scores   = MERGE_SCORES.out.scores
}

// Names a model's background: the checkpoint's md5 and the settings its scores depend on (12 hex digits)
def backgroundKey(ckpt, String settings) {
    def digest = java.security.MessageDigest.getInstance('MD5')
    ckpt.withInputStream { stream ->
        byte[] buffer = new byte[1 << 20]
        int n
        while ((n = stream.read(buffer)) > 0) digest.update(buffer, 0, n)
    }
    def md5 = new BigInteger(1, digest.digest()).toString(16).padLeft(32, '0')
    def key = java.security.MessageDigest.getInstance('SHA-256').digest("${md5} ${settings}".toString().bytes)
    return new BigInteger(1, key).toString(16).padLeft(64, '0').take(12)
}
