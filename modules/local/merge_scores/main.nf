process MERGE_SCORES {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    // the variant file in input/: the outputs are written beside it and must not overwrite it (a scores.tsv)
    tuple val(meta), path(checkpoint), path(variants, stageAs: 'input/*'), path(manifest), path(scores, stageAs: 'shards/*'), path(tracks, stageAs: 'shards/*')
    path background, stageAs: 'background/*'  // [parquet, json], or [] without calibration

    output:
    tuple val(meta), path('scores.tsv'), emit: scores
    path 'scores.parquet', emit: parquet
    path 'scores.vcf.gz{,.tbi}', emit: vcf
    tuple val(meta), path('tracks.h5'), emit: tracks
    path 'top_variants.tsv', emit: top
    tuple val('variants'), path('top_variants.tsv'), topic: report
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    def bg = background ? "--background ${background.find { it.name.endsWith('.parquet') }}" : ''
    """
    merge_scores.py --scores ${scores} --tracks ${tracks} --manifest ${manifest} --checkpoint ${checkpoint} \\
        --variants ${variants} --out-dir . ${bg} ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    touch scores.tsv scores.parquet scores.vcf.gz scores.vcf.gz.tbi tracks.h5 top_variants.tsv
    software_versions.py --process ${task.process} > versions.yml
    """
}
