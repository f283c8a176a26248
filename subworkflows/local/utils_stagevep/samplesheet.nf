// The samplesheet: parsed as CSV (RFC 4180: quoted fields, "" inside quotes, a UTF-8 byte order mark, CRLF or
// LF line ends) and checked row by row against assets/schema_input.json

import groovy.json.JsonSlurper

// Read and validate the samplesheet. Returns a list of [meta, bigwig, peaks].
// Relative paths are resolved against the samplesheet's own directory. Every problem is reported at once,
// each with its row (the line number in the file) and column.
def readSamplesheet(String path, schema_path) {
    def sheet = file(path)
    if (!sheet.exists()) error("Samplesheet not found: ${path}")
    def items = new JsonSlurper().parse(new File(schema_path.toString())).items
    def spec = items.properties
    def required = items.required as List
    def columns = required.join(',')
    def lines = parseCsv(sheet.getText('UTF-8'), path)
    if (!lines) error("Samplesheet ${path} is empty: it needs the header '${columns}' and one row per replicate")
    def header = lines[0][1]
    def missing = required.findAll { !(it in header) }
    if (missing) {
        error("Samplesheet ${path}: missing column(s) ${missing.join(', ')} in the header (row ${lines[0][0]}); the header must contain ${columns}")
    }
    if (lines.size() == 1) error("Samplesheet ${path} has a header but no rows: add one row per replicate")
    def rows = []
    def errors = []
    def seen = [:]
    lines.drop(1).each { rowno, fields ->
        if (fields.size() != header.size()) {
            errors << "row ${rowno}: ${fields.size()} fields but the header has ${header.size()} (${header.join(',')})"
            return
        }
        def rec = [header, fields].transpose().collectEntries { it }
        def names_ok = true
        ['stage', 'replicate'].each { col ->
            if (!(rec[col] ==~ spec[col].pattern)) {
                errors << "row ${rowno}, column '${col}': '${rec[col]}' ${spec[col].errorMessage}"
                names_ok = false
            }
        }
        def key = "${rec.stage}/${rec.replicate}".toString()  // a GString key never equals a String key
        if (names_ok && seen.containsKey(key)) {
            errors << "row ${rowno}, columns 'stage','replicate': duplicate (stage, replicate) = (${rec.stage}, ${rec.replicate}), first seen on row ${seen[key]}"
        }
        seen[key] = seen[key] ?: rowno
        def bigwig = resolveInput(sheet, rec.bigwig, rowno, 'bigwig', spec.bigwig.extensions, errors)
        def peaks  = resolveInput(sheet, rec.peaks, rowno, 'peaks', spec.peaks.extensions, errors)
        rows << [[id: "${rec.stage}_${rec.replicate}", stage: rec.stage, replicate: rec.replicate], bigwig, peaks]
    }
    if (errors) {
        error("Samplesheet ${path}: ${errors.size()} problem(s)\n  * " + errors.join('\n  * '))
    }
    return rows
}

// The file named in one samplesheet cell, or null after adding the problem to `errors`
def resolveInput(sheet, String value, int rowno, String column, List extensions, List errors) {
    if (!value) {
        errors << "row ${rowno}, column '${column}': empty"
        return null
    }
    if (!extensions.any { value.toLowerCase().endsWith(it) }) {
        errors << "row ${rowno}, column '${column}': '${value}' has an unknown extension; expected one of ${extensions.join(', ')}"
        return null
    }
    def f = (value.startsWith('/') || value.contains('://')) ? file(value) : file(sheet.parent.resolve(value).toString())
    if (!f.exists()) {
        errors << "row ${rowno}, column '${column}': file not found: ${f}"
        return null
    }
    return f
}

def stageOrder(rows) {
    return rows.collect { it[0].stage }.unique()
}

// Records of a CSV text as [line number of the record's first line, [field, ...]], fields trimmed of the
// spaces around them. Blank lines and lines starting with '#' are skipped. A quoted field may hold commas,
// line breaks and doubled quotes (""); one that is not closed, or text after a closing quote, is an error.
def parseCsv(String text, String path) {
    def records = []
    def fields = []
    def field = new StringBuilder()
    boolean quoted = false      // inside a quoted field
    boolean closed = false      // after the closing quote of the current field
    boolean started = false     // the current record has a character that is not blank
    int line = 1
    int recordLine = 1
    int i = text.startsWith('\uFEFF') ? 1 : 0
    def endField = {
        fields << (closed ? field.toString() : field.toString().trim())
        field.setLength(0)
        closed = false
    }
    def endRecord = {
        endField()
        if (started) records << [recordLine, fields]
        fields = []
        started = false
    }
    while (i < text.length()) {
        char c = text.charAt(i)
        if (quoted) {
            if (c == '"' as char && i + 1 < text.length() && text.charAt(i + 1) == '"' as char) {
                field << '"'
                i++
            } else if (c == '"' as char) {
                quoted = false
                closed = true
            } else {
                if (c == '\n' as char) line++
                field << c
            }
        } else if (c == '\r' as char || c == '\n' as char) {
            endRecord()
            if (c == '\r' as char && i + 1 < text.length() && text.charAt(i + 1) == '\n' as char) i++
            line++
            recordLine = line
        } else if (!started && fields.isEmpty() && field.length() == 0 && c == '#' as char) {
            // a comment line: skipped to its end
            while (i + 1 < text.length() && text.charAt(i + 1) != '\n' as char && text.charAt(i + 1) != '\r' as char) i++
        } else if (c == ',' as char) {
            started = true
            endField()
        } else if (c == '"' as char && !closed && field.toString().trim().isEmpty()) {
            started = true
            quoted = true
            field.setLength(0)
        } else if (closed) {
            if (!Character.isWhitespace(c)) {
                error("Samplesheet ${path}: row ${recordLine}: text after the closing quote of a field (quote the whole field, and write a quote inside it as \"\")")
            }
        } else {
            if (!Character.isWhitespace(c)) started = true
            field << c
        }
        i++
    }
    if (quoted) error("Samplesheet ${path}: row ${recordLine}: a quoted field is not closed")
    endRecord()
    return records
}
