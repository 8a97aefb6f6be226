/**
 * Types for hyparquet's page-level modules (`hyparquet/src/*.js`, in its package exports): with
 * this project's `moduleResolution: node` TypeScript does not read the exports map, so the
 * declarations that ship in `hyparquet/types/` are named here.
 */
declare module 'hyparquet/src/column.js' {
  export { parquetHeader, readPage } from 'hyparquet/types/column';
}
declare module 'hyparquet/src/convert.js' {
  export { convert, DEFAULT_PARSERS } from 'hyparquet/types/convert';
}
declare module 'hyparquet/src/schema.js' {
  export { getTreePath, isFlatColumn } from 'hyparquet/types/schema';
}
