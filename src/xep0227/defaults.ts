// The import's default file-size limit, apart from the importer so that the CLI can show it in
// its help without loading the XML and SASL code behind the import.
export const DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024;
