// n8n's formatting for community nodes: the options of the config @n8n/node-cli writes into a new
// node package (semicolons, trailing commas, tabs, single quotes, 100 columns).
module.exports = {
	semi: true,
	trailingComma: 'all',
	bracketSpacing: true,
	useTabs: true,
	tabWidth: 2,
	arrowParens: 'always',
	singleQuote: true,
	quoteProps: 'as-needed',
	endOfLine: 'lf',
	printWidth: 100,
};
