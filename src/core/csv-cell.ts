// Writing CSV cells: quoting, and keeping a spreadsheet from running a cell as a formula.

/** Cells that a spreadsheet would run as a formula get a leading quote (CSV injection, OWASP). */
export function neutralizeFormula(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell
}

export function csvCell(cell: string): string {
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell
}
