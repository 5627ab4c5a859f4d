/** Plans read from EXPLAIN (FORMAT JSON): a statement's plan as it ran (EXPLAIN ANALYZE: the statement runs, its writes included), and the rows it read of each table. */
import type { Queryable } from "../../receiver/src/store/database.ts";

export interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
}

/** A plan's nodes, the root first, each before the nodes under it. */
export const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];

export interface RanPlan {
  nodes: PlanNode[];
  /** Rows each table's scans read: those they returned and those their filters dropped, over every loop. */
  read: Map<string, number>;
}

export async function ranPlan(db: Queryable, sql: string, params?: readonly unknown[]): Promise<RanPlan> {
  const { rows } = await db.query<Record<string, unknown>>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
  const nodes = flatten((Object.values(rows[0]!)[0] as Array<{ Plan: PlanNode }>)[0]!.Plan);
  const read = new Map<string, number>();
  for (const node of nodes) {
    if (!node["Node Type"].includes("Scan") || !node["Relation Name"]) continue;
    const rowsRead = ((node["Actual Rows"] ?? 0) + (node["Rows Removed by Filter"] ?? 0)) * (node["Actual Loops"] ?? 1);
    read.set(node["Relation Name"], (read.get(node["Relation Name"]) ?? 0) + rowsRead);
  }
  return { nodes, read };
}
