include { TRAIN_MODEL    } from '../../modules/local/train_model'
include { EVALUATE_MODEL } from '../../modules/local/evaluate_model'

workflow TRAIN_EVALUATE {
    take:
    targets     // [meta, targets.h5]
    fasta       // [fasta, fai], value channel
    pretrained  // 'none' or a path
    stage_order // list of stage names (track order); names the stub outputs of EVALUATE_MODEL

    main:
    TRAIN_MODEL(targets, fasta, pretrained)
    // evaluate the best checkpoint on --eval_split of the same targets file
    ch_evaluate = TRAIN_MODEL.out.checkpoint
        .combine(targets.map { it[1] })
        .map { meta, ckpt, tgt -> [meta + [stages: stage_order], ckpt, tgt] }
    EVALUATE_MODEL(ch_evaluate, fasta)

    emit:
    checkpoint  = TRAIN_MODEL.out.checkpoint        // [meta, best.pt]
    metrics     = EVALUATE_MODEL.out.metrics        // [meta, metrics.tsv]
    predictions = EVALUATE_MODEL.out.predictions    // predictions.h5
    bigwigs     = EVALUATE_MODEL.out.bigwigs        // [<stage>.pred.bw, ...]
    plots       = EVALUATE_MODEL.out.plots          // [evaluate/plots/*]
    versions    = TRAIN_MODEL.out.versions.mix(EVALUATE_MODEL.out.versions)
}
