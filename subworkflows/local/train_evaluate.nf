include { TRAIN_MODEL    } from '../../modules/local/train_model'
include { EVALUATE_MODEL } from '../../modules/local/evaluate_model'

workflow TRAIN_EVALUATE {
    take:
    targets     // [meta, targets.h5]
    fasta       // path
    pretrained  // 'none' or a path

    main:
    TRAIN_MODEL(targets, fasta, pretrained)
    EVALUATE_MODEL(TRAIN_MODEL.out.checkpoint.combine(targets.map { it[1] }), fasta)

    emit:
    checkpoint = TRAIN_MODEL.out.checkpoint   // [meta, best.pt]
    metrics    = EVALUATE_MODEL.out.metrics   // [meta, metrics.tsv]
    versions   = TRAIN_MODEL.out.versions.mix(EVALUATE_MODEL.out.versions)
}
