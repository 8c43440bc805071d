import type * as z from 'zod';
import { LastEvent, TagListingHistory, type TagListingRow } from '../../shared/koji-poll/history.ts';
import type { KojiHub } from '../../shared/ports.ts';
import { callXmlRpc, type XmlRpcCallOptions, XmlRpcError, type XmlRpcValue } from './xmlrpc.ts';

/** koji passes keyword arguments as a last struct flagged `__starstar` (koji.encode_args). */
const keywords = (kwargs: Record<string, XmlRpcValue>): XmlRpcValue => ({ __starstar: true, ...kwargs });

function checked<T>(schema: z.ZodType<T>, method: string, answer: unknown): T {
  const parsed = schema.safeParse(answer);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.map(String).join('.') || '(answer)'}: ${i.message}`)
    .join('; ');
  throw new XmlRpcError(`${method} answered what koji does not: ${issues}`);
}

/** A koji hub over XML-RPC, anonymous: tag history is public. */
export class XmlRpcKojiHub implements KojiHub {
  constructor(
    private readonly url: string,
    private readonly options: XmlRpcCallOptions = {},
  ) {}

  async lastEvent(): Promise<{ id: number; ts: number }> {
    return checked(LastEvent, 'getLastEvent', await callXmlRpc(this.url, 'getLastEvent', [], this.options));
  }

  async tagListingHistory(afterEvent: number, beforeEvent: number): Promise<TagListingRow[]> {
    const args = keywords({ tables: ['tag_listing'], afterEvent, beforeEvent });
    const answer = await callXmlRpc(this.url, 'queryHistory', [args], this.options);
    return checked(TagListingHistory, 'queryHistory', answer).tag_listing;
  }
}
