import type { Agent, AgentOptions } from 'node:http';
import type { Socket } from 'node:net';

type Pem = { ca?: Buffer; cert?: Buffer; key?: Buffer };

/**
 * The OTLP http exporters' agent factory (their public `httpAgentOptions` may be a function):
 * keep-alive agents whose sockets never hold the event loop, so a script that is done does not
 * wait on an export to a slow or dead backend; the exit flush holds the process, for a bounded
 * time, instead. Node re-refs a keep-alive socket when it reuses it, so reuse unrefs it again.
 */
export function unrefAgentFactory(pem: Pem): (protocol: string) => Agent {
  return (protocol) => {
    const secure = protocol === 'https:';
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Base = (secure ? require('node:https') : require('node:http')).Agent as new (o: AgentOptions & Pem) => Agent;
    const options: AgentOptions & Pem = secure ? { keepAlive: true, ...pem } : { keepAlive: true };
    class UnrefAgent extends Base {
      override createConnection(...args: Parameters<Agent['createConnection']>): ReturnType<Agent['createConnection']> {
        const socket = super.createConnection(...args);
        (socket as Socket | undefined)?.unref?.();
        return socket;
      }
    }
    const agent: Agent = new UnrefAgent(options);
    const a = agent as unknown as { reuseSocket?: (socket: { unref?: () => void }, req: unknown) => void };
    const reuse = a.reuseSocket;
    if (typeof reuse === 'function')
      a.reuseSocket = (socket, req) => {
        reuse.call(agent, socket, req);
        socket.unref?.();
      };
    return agent;
  };
}
