process PREPARE_VARIANTS {
    tag "${meta.id}"
    label 'process_single'
    container "stagevep:${workflow.manifest.version}"

    input:
    tuple val(meta), path(checkpoint), path(variants), path(groups)
    tuple path(fasta), path(fai)  // fai: [] when there is none (then it is built here)

    output:
    tuple val(meta), path('shards/shard_*.tsv'), emit: shards
    tuple val(meta), path('shards/manifest.json'), emit: manifest
    tuple path("${fasta.name}", includeInputs: true), path("${fasta.name}.fai", includeInputs: true), emit: fasta
    path 'versions.yml', emit: versions, topic: versions

    script:
    def args = task.ext.args ?: ''
    def groups_arg = groups ? "--groups ${groups}" : ''
    """
    prepare_variants.py --checkpoint ${checkpoint} --fasta ${fasta} --variants ${variants} ${groups_arg} \\
        --out-dir shards ${args}
    software_versions.py --process ${task.process} > versions.yml
    """

    stub:
    """
    mkdir -p shards
    touch shards/shard_00001.tsv shards/manifest.json
    [ -e ${fasta.name}.fai ] || touch ${fasta.name}.fai
    software_versions.py --process ${task.process} > versions.yml
    """
}
