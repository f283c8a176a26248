process SCORE_VARIANTS {
    tag "${meta.id}"
    label 'process_gpu'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint), path(variants), path(groups)
    path fasta

    output:
    tuple val(meta), path('variants/scores.tsv'), emit: scores
    path 'variants/scores.parquet', emit: parquet
    path 'versions.yml', emit: versions

    script:
    def args = task.ext.args ?: ''
    def groups_arg = groups ? "--groups ${groups}" : ''
    """
    score_variants.py --checkpoint ${checkpoint} --fasta ${fasta} --variants ${variants} ${groups_arg} \\
        --out variants/scores.tsv ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p variants
    touch variants/scores.tsv variants/scores.parquet
    software_versions.py --process ${task.process} > versions.yml
    """
}
