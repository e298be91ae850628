import type { Logger } from '../../common/logger.js';
import type { Inventory } from './inventory.js';

/** Named log events of the hardware inventory. */
export function inventoryEvents(log: Logger) {
  return {
    collected: (inv: Inventory, ms: number) =>
      log.info(
        { event: 'inventory-collected', inventory: inv, ms },
        `hardware: ${inv.arch}, ${inv.cpu.cores} cores, ${inv.memory.totalMiB} MiB, ${inv.gpuCount} GPU(s)`,
      ),
  };
}
