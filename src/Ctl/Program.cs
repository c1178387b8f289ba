using System.CommandLine;
using Hawser.Shared.Cli;
using Hawser.Ctl.Commands;

var root = new RootCommand("hawserctl: see and steer a Hawser fleet through its controller.")
{
    CtlOptions.Config,
    CtlOptions.Controller,
    CtlOptions.Output,
    new StatusCommand(),
    new NodesCommand(),
    new ApplyCommand(),
    new DiffCommand(),
    new RevisionsCommand(),
    new EventsCommand(),
    new NodeCommand(),
    new TokenCommand(),
    new CertsCommand(),
    new RolloutCommand(),
    new OperatorCommand(),
    new WhoamiCommand(),
};
return await CommandLineRunner.RunAsync(root, args);
