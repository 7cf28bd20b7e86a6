// Copies what tsc does not: node/credential icons (svg, png) and codex JSON, into dist/ beside
// the compiled files, as n8n expects them (file:foo.svg is resolved next to the .node.js).
const { src, dest, parallel } = require('gulp');

function copyNodeAssets() {
	return src(['nodes/**/*.{svg,png,json}'], { encoding: false }).pipe(dest('dist/nodes'));
}

function copyCredentialAssets() {
	return src(['credentials/**/*.{svg,png}'], { encoding: false, allowEmpty: true }).pipe(
		dest('dist/credentials'),
	);
}

function copyIcons() {
	return src(['icons/**/*.{svg,png}'], { encoding: false, allowEmpty: true }).pipe(
		dest('dist/icons'),
	);
}

exports['build:assets'] = parallel(copyNodeAssets, copyCredentialAssets, copyIcons);
