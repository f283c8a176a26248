process MERGE_SCORES {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint), path(variants), path(manifest), path(scores, stageAs: 'shards/*'), path(tracks, stageAs: 'shards/*')
    path background, stageAs: 'background/*'  // [parquet, json], or [] without calibration

    output:
    tuple val(meta), path('variants/scores.tsv'), emit: scores
    path 'variants/scores.parquet', emit: parquet
    path 'variants/scores.vcf.gz{,.tbi}', emit: vcf
    tuple val(meta), path('variants/tracks.h5'), emit: tracks
    path 'variants/top_variants.tsv', emit: top, topic: report
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    def bg = background ? "--background ${background.find { it.name.endsWith('.parquet') }}" : ''
    """
    merge_scores.py --scores ${scores} --tracks ${tracks} --manifest ${manifest} --checkpoint ${checkpoint} \\
        --variants ${variants} --out-dir variants ${bg} ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p variants
    touch variants/scores.tsv variants/scores.parquet variants/scores.vcf.gz variants/scores.vcf.gz.tbi \\
        variants/tracks.h5 variants/top_variants.tsv
    software_versions.py --process ${task.process} > versions.yml
    """
}
