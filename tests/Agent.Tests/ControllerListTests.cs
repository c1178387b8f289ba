using System.Net;
using Hawser.Agent.Fleet;

namespace Hawser.Agent.Tests;

/// <summary>The agent's list of controllers: names with several addresses, the order, and moving on (logic only; DNS is a seam here).</summary>
[TestClass]
public sealed class ControllerListTests
{
    private static readonly Uri Name = new("https://ctl.example.org:7443");
    private static readonly Uri Other = new("https://ctl2.example.org:7443");

    private static Func<string, IPAddress[]> Resolver(Dictionary<string, string[]> table) =>
        host => table.TryGetValue(host, out var addresses) ? [.. addresses.Select(IPAddress.Parse)] : [];

    [TestMethod]
    public void A_name_with_several_addresses_is_one_controller_per_address_and_one_address_or_none_leaves_the_url()
    {
        var list = new ControllerList([Name, Other, new Uri("https://192.0.2.9:7443")], new Random(1), Resolver(new()
        {
            ["ctl.example.org"] = ["192.0.2.1", "192.0.2.2", "2001:db8::1"],
            ["ctl2.example.org"] = ["192.0.2.3"],
        }));
        var order = list.Order.Select(e => e.ToString()).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[]
        {
            "https://192.0.2.9:7443/",
            "https://ctl.example.org:7443/ (192.0.2.1)",
            "https://ctl.example.org:7443/ (192.0.2.2)",
            "https://ctl.example.org:7443/ (2001:db8::1)",
            "https://ctl2.example.org:7443/",
        }, order);
        Assert.IsTrue(list.Order.All(e => e.Url.Host is "ctl.example.org" or "ctl2.example.org" or "192.0.2.9"), "the certificate is still checked against the name");
    }

    [TestMethod]
    public void Agents_seeded_differently_start_on_different_controllers()
    {
        var firsts = Enumerable.Range(0, 200).Select(seed => new ControllerList([Name, Other, new Uri("https://ctl3.example.org:7443")], new Random(seed), _ => []).Current.Url.Host).ToList();
        Assert.AreEqual(3, firsts.Distinct().Count(), "every controller is someone's first");
        Assert.IsTrue(firsts.GroupBy(f => f).All(g => g.Count() > 200 / 6), string.Join(", ", firsts.GroupBy(f => f).Select(g => $"{g.Key}={g.Count()}")));
    }

    [TestMethod]
    public void A_failure_moves_on_at_once_until_every_controller_failed_in_a_row_then_names_are_resolved_again()
    {
        var table = new Dictionary<string, string[]> { ["ctl.example.org"] = ["192.0.2.1", "192.0.2.2"] };
        var list = new ControllerList([Name, Other], new Random(7), Resolver(table));
        var seen = new HashSet<string> { list.Current.ToString() };
        Assert.IsFalse(list.Fail(), "two of three left");
        seen.Add(list.Current.ToString());
        list.Succeeded();
        Assert.IsFalse(list.Fail());
        seen.Add(list.Current.ToString());
        Assert.IsFalse(list.Fail());
        Assert.HasCount(3, seen, "each endpoint in turn");

        table["ctl.example.org"] = ["192.0.2.5", "192.0.2.6", "192.0.2.7"];
        Assert.IsTrue(list.Fail(), "three failures in a row: back off");
        Assert.HasCount(4, list.Order, "resolved again: three addresses now, and the other controller");
        Assert.IsTrue(list.Order.Any(e => Equals(e.Address, IPAddress.Parse("192.0.2.7"))));
        Assert.IsFalse(list.Fail(), "a new round moves on at once again");
    }
}
