using Hawser.Shared.Protocol;

namespace Hawser.Shared.Tests.Protocol;

[TestClass]
public sealed class VersionSkewTests
{
    private static readonly Version Controller = new(1, 4, 2);

    [TestMethod]
    [DataRow("1.4.0")]
    [DataRow("1.4.9")]
    [DataRow("1.3.0")]
    [DataRow("1.3.7-rc1")]
    public void A_controller_takes_its_own_minor_and_the_one_before(string agent) =>
        Assert.IsNull(VersionSkew.Problem(agent, Controller));

    [TestMethod]
    public void An_older_agent_is_told_to_upgrade_with_the_range_in_words()
    {
        Assert.AreEqual("agent 1.2.9 is older than this controller supports (1.3 to 1.4): upgrade it", VersionSkew.Problem("1.2.9", Controller));
        Assert.AreEqual("agent 0.9.0 is older than this controller supports (1.3 to 1.4): upgrade it", VersionSkew.Problem("0.9.0", Controller));
    }

    [TestMethod]
    public void A_newer_agent_is_told_the_controllers_go_first()
    {
        Assert.AreEqual("agent 1.5.0 is newer than this controller supports (1.3 to 1.4): upgrade the controllers first", VersionSkew.Problem("1.5.0", Controller));
        Assert.AreEqual("agent 2.0.0 is newer than this controller supports (1.3 to 1.4): upgrade the controllers first", VersionSkew.Problem("2.0.0", Controller));
    }

    [TestMethod]
    public void A_first_minor_supports_itself_alone_and_garbage_is_named()
    {
        Assert.AreEqual("2.0", VersionSkew.Supported(new Version(2, 0, 0)));
        Assert.IsNull(VersionSkew.Problem("2.0.1", new Version(2, 0, 0)));
        Assert.AreEqual("agent 1.9.0 is older than this controller supports (2.0): upgrade it", VersionSkew.Problem("1.9.0", new Version(2, 0, 0)));
        Assert.AreEqual("agent version 'banana' is not one this controller understands (it supports 1.3 to 1.4): upgrade it", VersionSkew.Problem("banana", Controller));
        Assert.IsNotNull(VersionSkew.Problem("1.4", Controller));
    }
}
