// Fails loudly when the tests run on a Node older than n8n 2.x needs.
module.exports = async () => {
	const major = Number(process.versions.node.split('.')[0]);
	if (major < 24) {
		throw new Error(
			`Tests need Node >= 24 (n8n 2.x and node:sqlite); this is ${process.version}. ` +
				'Run them through npm (npm test), which puts the project\'s own Node 24 first on PATH.',
		);
	}
};
