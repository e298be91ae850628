/**
 * Keeps the hub's server certificate current while the agent runs: a gateway runs for months, and the
 * certificate made at start lasts a year. Once a day (by default) the hub's TLS material is checked as
 * at start (`loadOrCreateTls`: remade within 30 days of expiry); a new certificate goes to the
 * listeners, so new connections get it and open ones carry on. A failed check is logged and tried
 * again at the next tick; the current certificate stays in use meanwhile. A CA remade by the same rule
 * (ten years on) is written in place into the file modules mount; a module reads it when it starts.
 */
import { X509Certificate } from 'node:crypto';
import type { HubEvents } from './events.js';
import { type HubTls, loadOrCreateTls } from './tls-material.js';

export const DEFAULT_CERTIFICATE_CHECK_MS = 24 * 3600 * 1000;

export interface CertificateRenewalOptions {
  dir: string;
  gatewayHostName: string;
  /** Takes a renewed certificate into use (the listeners' secure context). */
  apply(material: HubTls): void;
  events: Pick<HubEvents, 'certificateRenewed' | 'certificateRenewFailed'>;
  now: () => number;
  intervalMs?: number;
}

export interface CertificateRenewal {
  /** One check now; resolves to true when a new certificate was taken into use. */
  check(): Promise<boolean>;
  stop(): void;
}

export function startCertificateRenewal(options: CertificateRenewalOptions): CertificateRenewal {
  let running: Promise<boolean> | undefined;
  const check = (): Promise<boolean> => {
    // A slow check (key generation) is not started twice.
    running ??= (async () => {
      try {
        const material = await loadOrCreateTls(options.dir, options.gatewayHostName, new Date(options.now()));
        if (!material.renewed) return false;
        options.apply(material);
        options.events.certificateRenewed(new X509Certificate(material.certPem).validTo);
        return true;
      } catch (e) {
        options.events.certificateRenewFailed(e);
        return false;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void check(), options.intervalMs ?? DEFAULT_CERTIFICATE_CHECK_MS);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
