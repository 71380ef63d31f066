// How benchmark 13's llama-server is compiled on a machine: the flags alone (building takes ~14 minutes and is the
// benchmark's own business).
import { describe, expect, it } from 'vitest';
import { peerToolchain } from '../bench/lib/peerBuild.js';

const DOCUMENTED = ['-DCMAKE_BUILD_TYPE=Release', '-DGGML_NATIVE=ON', '-DLLAMA_CURL=OFF', '-DLLAMA_USE_PREBUILT_UI=OFF'];

describe('peerToolchain', () => {
  it('configures llama.cpp’s documented native build on a CPU without AMX', () => {
    expect(peerToolchain(false)).toMatchObject({ configure: DOCUMENTED, amx: false });
  });

  it('keeps the AMX kernels on an AMX CPU, with the flags that stop GCC from dropping their tile shapes', () => {
    const toolchain = peerToolchain(true);
    expect(toolchain.configure).toEqual([
      ...DOCUMENTED,
      '-DCMAKE_C_FLAGS=-fno-tree-dse -fno-dse',
      '-DCMAKE_CXX_FLAGS=-fno-tree-dse -fno-dse',
    ]);
    expect(toolchain.configure.join(' ')).not.toContain('-mno-amx');
    expect(toolchain.amx).toBe(true);
  });
});
