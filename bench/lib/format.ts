// Number formats of RESULTS.md (report.ts, report-web.ts).
export const fmt = (value: number | undefined, digits = 0): string => {
  if (value === undefined || Number.isNaN(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
};

export const ms = (value: number | undefined): string => {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
};

export const ratio = (a: number | undefined, b: number | undefined): string => {
  if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0) return '–';
  return `${(a / b).toFixed(2)}×`;
};
