/**
 * An ICredentialsHelper that behaves like n8n's own for what nodes see: credential data by
 * type (defaults of the credential's properties applied, as n8n's applyDefaultsAndOverwrites
 * does), and authenticate() for both function and IAuthenticateGeneric credentials, resolving
 * `={{$credentials.x}}` with the workflow's expression engine.
 */
import { Credentials } from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	ICredentialTypes,
	IDataObject,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	INodeProperties,
	IRequestOptionsSimplified,
	Workflow,
} from 'n8n-workflow';
import { ICredentialsHelper, NodeHelpers } from 'n8n-workflow';

export class HarnessCredentialsHelper extends ICredentialsHelper {
	/** Every credential data object handed to a node, by type: tests assert secrets never leak. */
	readonly handedOut: string[] = [];

	constructor(
		private readonly types: ICredentialTypes,
		private readonly byType: Record<string, ICredentialDataDecryptedObject>,
	) {
		super();
	}

	getParentTypes(name: string): string[] {
		return this.types.getParentTypes(name);
	}

	getCredentialsProperties(type: string): INodeProperties[] {
		return this.types.getByName(type).properties;
	}

	isCredentialUsableByNode(): boolean {
		return true;
	}

	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		incoming: IHttpRequestOptions | IRequestOptionsSimplified,
		workflow?: Workflow,
		node?: INode,
	): Promise<IHttpRequestOptions> {
		const requestOptions = incoming as IHttpRequestOptions & Record<string, unknown>;
		const type = this.types.getByName(typeName);
		const auth = type.authenticate;
		if (typeof auth === 'function') return await auth(credentials, requestOptions);
		if (auth && auth.type === 'generic') {
			requestOptions.headers ??= {};
			for (const [outerKey, outerValue] of Object.entries(auth.properties)) {
				for (const [key, value] of Object.entries(outerValue as IDataObject)) {
					const k = this.resolve(key, credentials, workflow, node);
					const v = this.resolve(value, credentials, workflow, node);
					const target = (requestOptions[outerKey] ??= {}) as IDataObject;
					target[k] = v;
				}
			}
		}
		return requestOptions;
	}

	private resolve(
		value: unknown,
		credentials: ICredentialDataDecryptedObject,
		workflow?: Workflow,
		node?: INode,
	): string {
		if (typeof value !== 'string' || !value.startsWith('=')) return value as string;
		if (!workflow || !node)
			throw new Error('authenticate() needs the workflow and node to resolve expressions');
		const resolved = workflow.expression.getSimpleParameterValue(
			node,
			value,
			'internal',
			{ $credentials: credentials },
			undefined,
			'',
		);
		return resolved === undefined || resolved === null ? '' : String(resolved);
	}

	async preAuthentication() {
		return undefined;
	}

	async runPreAuthentication() {
		return undefined;
	}

	async getCredentials(nodeCredentials: INodeCredentialsDetails, type: string) {
		return new Credentials({ id: nodeCredentials.id, name: nodeCredentials.name }, type, '');
	}

	async getDecrypted(
		_additionalData: unknown,
		nodeCredentials: INodeCredentialsDetails,
		type: string,
	): Promise<ICredentialDataDecryptedObject> {
		const data = this.byType[type];
		if (!data) {
			throw new Error(
				`Node credential "${nodeCredentials.name}" of type "${type}" was not given to the harness`,
			);
		}
		const withDefaults = NodeHelpers.getNodeParameters(
			this.types.getByName(type).properties,
			data as never,
			true,
			false,
			null,
			null,
		) as ICredentialDataDecryptedObject;
		this.handedOut.push(type);
		return { ...withDefaults, ...data };
	}

	async updateCredentials() {}

	async updateCredentialsOauthTokenData() {}
}
