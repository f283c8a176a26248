include { TRAIN_MODEL    } from '../../../modules/local/train_model'
include { EVALUATE_MODEL } from '../../../modules/local/evaluate_model'

// targets.h5 -> the trained model (best.pt) -> its evaluation on one split of the same targets
workflow TRAIN_EVALUATE {
    take:
    ch_targets  // channel: [meta, targets.h5]
    ch_fasta    // channel (value): [fasta, fai]
    pretrained  // 'none' or a path

    main:
    TRAIN_MODEL(ch_targets, ch_fasta, pretrained)
    // evaluate the best checkpoint on --eval_split of the same targets file
    ch_evaluate = TRAIN_MODEL.out.checkpoint.join(ch_targets)
    EVALUATE_MODEL(ch_evaluate, ch_fasta)

    emit:
    checkpoint  = TRAIN_MODEL.out.checkpoint        // [meta, best.pt]
    metrics     = EVALUATE_MODEL.out.metrics        // [meta, metrics.tsv]
    predictions = EVALUATE_MODEL.out.predictions    // predictions.h5
    bigwigs     = EVALUATE_MODEL.out.bigwigs        // [<stage>.pred.bw, ...]
    plots       = EVALUATE_MODEL.out.plots          // the evaluation figures
}
