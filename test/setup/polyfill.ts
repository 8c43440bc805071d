import '../../cli/engine/polyfill.ts';
