export function init() {
  throw new Error('cannot find my weights');
}
export function run() {
  return 1;
}
