/** The package version, stamped into generated metadata and --version. */
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
