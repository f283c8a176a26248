process SCORE_VARIANTS {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint), path(variants), path(groups)
    tuple path(fasta), path(fai)  // the .fai staged beside the FASTA, so no task re-indexes it

    output:
    tuple val(meta), path('variants/scores.tsv'), emit: scores
    path 'variants/scores.parquet', emit: parquet
    tuple val(meta), path('variants/tracks.h5'), emit: tracks
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    def groups_arg = groups ? "--groups ${groups}" : ''
    """
    score_variants.py --checkpoint ${checkpoint} --fasta ${fasta} --variants ${variants} ${groups_arg} \\
        --out variants/scores.tsv --save-tracks variants/tracks.h5 ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p variants
    touch variants/scores.tsv variants/scores.parquet variants/tracks.h5
    software_versions.py --process ${task.process} > versions.yml
    """
}
