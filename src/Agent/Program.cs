using System.CommandLine;
using Hawser.Shared.Cli;

// The agent's verbs (apply, run, install) are built by the agent issues; until then it only
// answers --help and --version, so nothing can mistake it for a working agent.
var root = new RootCommand("hawser-agent: makes this host match the desired state (sysctls, ufw, NDP proxy, Docker IPv6, certificates).");
return await CommandLineRunner.RunAsync(root, args);
