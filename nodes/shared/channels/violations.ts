/** A rule a message breaks before it is sent: never truncated silently, reported "Not sent". */
export interface Violation {
	code: string;
	field: string;
	message: string;
}
