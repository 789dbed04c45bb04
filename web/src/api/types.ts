/**
 * The HTTP API's request and response types, taken from the CGI definitions
 * themselves (type-only imports: esbuild erases them, so no server code
 * reaches the browser). A field renamed in a CGI's zod schema fails
 * `tsc --noEmit` here, not in a user's browser (the idea of hono's `hc`).
 */
import type { z } from 'zod';

/** Every CGI the client calls, by the name it is served under. */
interface Cgis {
  register: typeof import('../../../cgis/account/register.ts').default;
  login: typeof import('../../../cgis/account/login.ts').default;
  logout: typeof import('../../../cgis/account/logout.ts').default;
  sendmsg: typeof import('../../../cgis/msgsend/sendmsg.ts').default;
  recallmsg: typeof import('../../../cgis/msgsend/recallmsg.ts').default;
  sync: typeof import('../../../cgis/msgsync/sync.ts').default;
  getconversations: typeof import('../../../cgis/msgsync/getconversations.ts').default;
  gethistory: typeof import('../../../cgis/msgsync/gethistory.ts').default;
  markread: typeof import('../../../cgis/msgsync/markread.ts').default;
  searchmsgs: typeof import('../../../cgis/msgsync/searchmsgs.ts').default;
  uploadmedia: typeof import('../../../cgis/msgmedia/uploadmedia.ts').default;
  sendmediamsg: typeof import('../../../cgis/msgmedia/sendmediamsg.ts').default;
  creategroup: typeof import('../../../cgis/group/creategroup.ts').default;
  addgroupmember: typeof import('../../../cgis/group/addgroupmember.ts').default;
  delgroupmember: typeof import('../../../cgis/group/delgroupmember.ts').default;
  getgroup: typeof import('../../../cgis/group/getgroup.ts').default;
  setprofile: typeof import('../../../cgis/profile/setprofile.ts').default;
  getprofiles: typeof import('../../../cgis/profile/getprofiles.ts').default;
  finduser: typeof import('../../../cgis/profile/finduser.ts').default;
  addcontact: typeof import('../../../cgis/contact/addcontact.ts').default;
  acceptcontact: typeof import('../../../cgis/contact/acceptcontact.ts').default;
  declinecontact: typeof import('../../../cgis/contact/declinecontact.ts').default;
  delcontact: typeof import('../../../cgis/contact/delcontact.ts').default;
  blockuser: typeof import('../../../cgis/contact/blockuser.ts').default;
  unblockuser: typeof import('../../../cgis/contact/unblockuser.ts').default;
  getcontacts: typeof import('../../../cgis/contact/getcontacts.ts').default;
}

/** Input and output of every CGI the client calls. */
export type Api = {
  [K in keyof Cgis]: { input: z.input<Cgis[K]['input']>; output: z.output<Cgis[K]['output']> };
};
export type CgiName = keyof Api;
export type ApiInput<K extends CgiName> = Api[K]['input'];
export type ApiOutput<K extends CgiName> = Api[K]['output'];

/** One inbox entry as sync, gethistory, searchmsgs and getconversations shape it (SPEC §4, §6). */
export type InboxEntry = ApiOutput<'sync'>['messages'][number];
export type InboxEvent = NonNullable<InboxEntry['event']>;
export type Profile = ApiOutput<'getprofiles'>['profiles'][number];
export type ConversationSummary = ApiOutput<'getconversations'>['conversations'][number];
export type Contacts = ApiOutput<'getcontacts'>;
export type GroupInfo = ApiOutput<'getgroup'>;
export type SendResult = ApiOutput<'sendmsg'>;
