using Microsoft.Playwright;

namespace Hawser.Web.Tests;

/// <summary>Page navigation that survives the machine's addresses changing under it.</summary>
internal static class Navigation
{
    /// <summary>
    /// Goes to <paramref name="url"/>; Chromium abandons a navigation with ERR_NETWORK_CHANGED when an address is added or
    /// removed anywhere on the machine (the fleet tests and the demo add veths beside these tests), so that one is tried again.
    /// </summary>
    public static async Task GoAsync(this IPage page, string url)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await page.GotoAsync(url);
                return;
            }
            catch (PlaywrightException ex) when (attempt < 5 && ex.Message.Contains("net::ERR_NETWORK_CHANGED", StringComparison.Ordinal))
            {
            }
        }
    }
}
