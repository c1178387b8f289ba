using Hawser.TestSupport;
using Microsoft.Playwright;

namespace Hawser.Web.Tests;

/// <summary>
/// A screenshot of a page kept as a test artifact, and axe-core's WCAG 2.1 A and AA check of the same page (issue 29):
/// each violation is kept with the page's name, for the test to assert none at its end.
/// </summary>
internal sealed class PageChecks(TestContext context, string axe, string shots)
{
    /// <summary>Every violation found so far, as "shot: rule (impact): help: elements".</summary>
    public List<string> Violations { get; } = [];

    /// <summary>Reads axe-core from the npm install under tests/interop and makes the screenshot directory.</summary>
    public static async Task<PageChecks> CreateAsync(TestContext context)
    {
        var shots = Path.Combine(context.TestRunResultsDirectory ?? Path.GetTempPath(), "screenshots");
        Directory.CreateDirectory(shots);
        return new PageChecks(context, await File.ReadAllTextAsync(Path.Combine(RepoPaths.Interop, "node_modules", "axe-core", "axe.min.js")), shots);
    }

    /// <summary>Shoots <paramref name="page"/> as NAME.png and runs axe-core on it.</summary>
    public async Task ShotAsync(IPage page, string name)
    {
        var path = Path.Combine(shots, $"{name}.png");
        await page.ScreenshotAsync(new() { Path = path, FullPage = true });
        context.AddResultFile(path);
        await page.EvaluateAsync(axe);
        Violations.AddRange((await page.EvaluateAsync<string[]>(
            "async () => (await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })).violations" +
            ".map(v => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)")).Select(v => $"{name}: {v}"));
    }
}
