import { UsageError } from '../../common/errors.js';

/** The platforms a module image can be built for: the ones onnxruntime-node ships Linux binaries for. */
export const TARGET_PLATFORMS = ['linux/amd64', 'linux/arm64'] as const;
export type TargetPlatform = (typeof TARGET_PLATFORMS)[number];

export interface PlatformFacts {
  platform: TargetPlatform;
  /** Docker's name for the CPU (`Architecture` of an image). */
  dockerArch: 'amd64' | 'arm64';
  /** Node's name for the CPU (`process.arch`, onnxruntime-node's `bin/napi-v6/linux/<arch>`). */
  nodeArch: 'x64' | 'arm64';
  /** ELF `e_machine` of native code for this CPU. */
  elfMachine: number;
  /** Top-level Dockerfile template for this platform (the design card's `Dockerfile.arm64`). */
  template: 'Dockerfile' | 'Dockerfile.arm64';
}

const FACTS: Record<TargetPlatform, PlatformFacts> = {
  'linux/amd64': {
    platform: 'linux/amd64',
    dockerArch: 'amd64',
    nodeArch: 'x64',
    elfMachine: 0x3e,
    template: 'Dockerfile',
  },
  'linux/arm64': {
    platform: 'linux/arm64',
    dockerArch: 'arm64',
    nodeArch: 'arm64',
    elfMachine: 0xb7,
    template: 'Dockerfile.arm64',
  },
};

/** Aliases people type for the same two platforms (Docker's, Node's and IoT Edge's names). */
const ALIASES: Record<string, TargetPlatform> = {
  'linux/amd64': 'linux/amd64',
  'linux/x86_64': 'linux/amd64',
  'linux/x64': 'linux/amd64',
  amd64: 'linux/amd64',
  'linux/arm64': 'linux/arm64',
  'linux/arm64/v8': 'linux/arm64',
  'linux/aarch64': 'linux/arm64',
  arm64: 'linux/arm64',
  arm64v8: 'linux/arm64',
};

export function parsePlatform(text: string): PlatformFacts {
  const platform = ALIASES[text.trim().toLowerCase()];
  if (platform === undefined) {
    throw new UsageError(
      'PLATFORM_UNSUPPORTED',
      `--platform '${text}' is not supported: use one of ${TARGET_PLATFORMS.join(', ')}`,
      { hint: 'onnxruntime-node ships Linux binaries for these two CPUs only' },
    );
  }
  return FACTS[platform];
}
