using System.CommandLine;

namespace Hawser.Ctl.Commands;

/// <summary>How results are printed.</summary>
internal enum OutputFormat
{
    /// <summary>Tables for people.</summary>
    Table,
    /// <summary>Stable JSON for scripts (documented in the README).</summary>
    Json,
    /// <summary>Tables with every column, however wide the terminal.</summary>
    Wide,
}

/// <summary>Options every hawserctl command takes.</summary>
internal static class CtlOptions
{
    /// <summary>The environment variable that names the controller when --controller is not given.</summary>
    public const string ControllerVariable = "HAWSER_CONTROLLER";

    /// <summary>The controller's address when neither --controller, $HAWSER_CONTROLLER nor the config says.</summary>
    public const string DefaultController = "https://127.0.0.1:7443";

    /// <summary>--config FILE.</summary>
    public static readonly Option<string> Config = new("--config")
    {
        HelpName = "FILE",
        Description = $"hawserctl's config (controller URL, CA, your operator credential). Default: ${Configuration.CtlConfig.ConfigVariable}, else ~/.config/hawser/hawserctl.yaml.",
        Recursive = true,
        DefaultValueFactory = _ => Configuration.CtlConfig.DefaultPath(),
    };

    /// <summary>--controller URL; null means the config's, else the default.</summary>
    public static readonly Option<Uri?> Controller = new("--controller")
    {
        HelpName = "URL",
        Description = $"The controller's URL. Default: ${ControllerVariable}, else the config's, else {DefaultController}.",
        Recursive = true,
        DefaultValueFactory = result => Environment.GetEnvironmentVariable(ControllerVariable) is { Length: > 0 } fromEnv
            ? ControllerUrl(fromEnv, $"${ControllerVariable}", result) : null,
        CustomParser = result => ControllerUrl(result.Tokens.Single().Value, "--controller", result),
    };

    /// <summary>-o table|json.</summary>
    public static readonly Option<OutputFormat> Output = new("--output", "-o")
    {
        Description = "Output format: table (default; on a narrow terminal the last columns give way before a value is broken), wide (every column) or json.",
        HelpName = "table|wide|json",
        Recursive = true,
        DefaultValueFactory = _ => OutputFormat.Table,
        CustomParser = result => result.Tokens.Single().Value.ToLowerInvariant() switch
        {
            "table" => OutputFormat.Table,
            "wide" => OutputFormat.Wide,
            "json" => OutputFormat.Json,
            var other => Refuse(result, $"--output '{other}' is not an output format; use table, wide or json"),
        },
    };

    /// <summary>An http:// or https:// URL from <paramref name="source"/> (an option or an environment variable), or an error naming it.</summary>
    private static Uri? ControllerUrl(string text, string source, System.CommandLine.Parsing.ArgumentResult result)
    {
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
        {
            return uri;
        }
        result.AddError($"{source} '{text}' is not an http:// or https:// URL (e.g. https://ctl.example.org:7443)");
        return null;
    }

    private static OutputFormat Refuse(System.CommandLine.Parsing.ArgumentResult result, string error)
    {
        result.AddError(error);
        return OutputFormat.Table;
    }
}
