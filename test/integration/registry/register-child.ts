// Registers one model in a separate process (for the concurrency and crash tests); prints the version.
import { ModelRegistry } from '../../../cloud/registry/registry.js';

const [home, path] = process.argv.slice(2) as [string, string];
const registry = ModelRegistry.open(home);
process.stderr.write('registering\n');
const model = await registry.register({ name: 'concurrent', path });
registry.close();
process.stdout.write(`${model.version}\n`);
