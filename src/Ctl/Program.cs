using System.CommandLine;
using Hawser.Shared.Cli;
using Hawser.Ctl.Commands;

var root = new RootCommand("hawserctl: see and steer a Hawser fleet through its controller.")
{
    CtlOptions.Controller,
    CtlOptions.Output,
    new NodesCommand(),
};
return await CommandLineRunner.RunAsync(root, args);
