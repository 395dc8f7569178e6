export { type Mapping, type MappingProbeOptions, probeMapping } from "./mapping.ts";
