import Papa from 'papaparse'

/** A CSV text as rows of cells (blank lines skipped); a byte order mark stays in the first cell, where a test sees it. */
export const parseCsv = (text: string): string[][] => Papa.parse<string[]>(text, { skipEmptyLines: true }).data

/** The same for a file meant for spreadsheets, which may begin with a byte order mark: that mark is dropped first. */
export const parseCsvAfterBom = (text: string): string[][] => parseCsv(text.replace(/^\uFEFF/, ''))
