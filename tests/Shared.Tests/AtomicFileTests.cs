using System.Diagnostics;
using Hawser.Shared.IO;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests;

/// <summary>AtomicFile on the real file system: what it replaces, what it refuses, what statx reads.</summary>
[TestClass]
public sealed class AtomicFileTests
{
    [TestMethod]
    public void Writes_a_new_file_and_replaces_a_regular_one_with_the_mode_given()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "sub", "file.conf");

        AtomicFile.Write(path, "one"u8, (UnixFileMode)0b110_100_000);
        AtomicFile.Write(path, "two"u8, (UnixFileMode)0b110_000_000);

        Assert.AreEqual("two", File.ReadAllText(path));
        var metadata = AtomicFile.Stat(path)!;
        Assert.AreEqual(FileKind.Regular, metadata.Kind);
        Assert.AreEqual((UnixFileMode)0b110_000_000, metadata.Mode);
        Assert.IsEmpty(Directory.GetFiles(Path.GetDirectoryName(path)!, ".*"), "no temp file is left");
    }

    [TestMethod]
    public void Refuses_a_symbolic_link_and_leaves_it_and_its_target_alone()
    {
        using var directory = new TempDirectory();
        var target = Path.Combine(directory.Path, "elsewhere");
        File.WriteAllText(target, "theirs");
        var path = Path.Combine(directory.Path, "file.conf");
        File.CreateSymbolicLink(path, target);

        var error = Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(path, "ours"u8, UnixFileMode.UserRead | UnixFileMode.UserWrite));

        Assert.AreEqual($"refusing to write {path}: it is a symbolic link, not a regular file", error.Message);
        Assert.AreEqual(target, new FileInfo(path).LinkTarget);
        Assert.AreEqual("theirs", File.ReadAllText(target));
    }

    [TestMethod]
    public void Replaces_its_own_symbolic_link_when_told_to_without_following_it()
    {
        using var directory = new TempDirectory();
        var target = Path.Combine(directory.Path, "elsewhere");
        File.WriteAllText(target, "theirs");
        var path = Path.Combine(directory.Path, "file.conf");
        File.CreateSymbolicLink(path, target);

        AtomicFile.Write(path, "ours"u8, UnixFileMode.UserRead | UnixFileMode.UserWrite, replaceSymlink: true);

        Assert.AreEqual(FileKind.Regular, AtomicFile.Stat(path)!.Kind);
        Assert.AreEqual("ours", File.ReadAllText(path));
        Assert.AreEqual("theirs", File.ReadAllText(target));
    }

    [TestMethod]
    public void Refuses_a_directory()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "file.conf");
        Directory.CreateDirectory(Path.Combine(path, "inside"));

        var error = Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(path, "x"u8, UnixFileMode.UserRead));

        StringAssert.Contains(error.Message, $"{path}: it is a directory");
        Assert.IsTrue(Directory.Exists(Path.Combine(path, "inside")));
    }

    [TestMethod]
    [DataRow("c", "a character device")]
    [DataRow("b", "a block device")]
    [DataRow("p", "a FIFO")]
    public void Refuses_a_device_or_a_fifo(string type, string described)
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "file.conf");
        // mknod as root: the same numbers as /dev/null (c 1 3) and /dev/loop0 (b 7 0); a FIFO takes none.
        string[] arguments = type == "p" ? [path, "p"] : [path, type, type == "c" ? "1" : "7", type == "c" ? "3" : "0"];
        using (var mknod = Process.Start("mknod", arguments)!)
        {
            mknod.WaitForExit();
            Assert.AreEqual(0, mknod.ExitCode, "mknod (the tests run as root)");
        }

        var error = Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(path, "x"u8, UnixFileMode.UserRead));

        StringAssert.Contains(error.Message, $"{path}: it is {described}");
        Assert.AreEqual(type == "p" ? FileKind.Fifo : type == "c" ? FileKind.CharacterDevice : FileKind.BlockDevice, AtomicFile.Stat(path)!.Kind);
    }

    [TestMethod]
    public void Owner_and_kind_come_from_statx_without_following_a_link()
    {
        using var directory = new TempDirectory();
        var file = Path.Combine(directory.Path, "file");
        File.WriteAllText(file, "x");
        AtomicFile.Chown(file, 1234, 5678);
        var link = Path.Combine(directory.Path, "link");
        File.CreateSymbolicLink(link, file);

        Assert.AreEqual((1234, 5678), AtomicFile.Owner(file));
        Assert.AreEqual((0, 0), AtomicFile.Owner(link), "the link itself belongs to root, who made it");
        Assert.AreEqual(FileKind.SymbolicLink, AtomicFile.Stat(link)!.Kind);
        Assert.IsNull(AtomicFile.Stat(Path.Combine(directory.Path, "absent")));
        Assert.IsNull(AtomicFile.Stat(Path.Combine(file, "below-a-file")));
    }

    [TestMethod]
    public void A_tree_is_removed_through_descriptors_and_a_link_inside_is_removed_not_followed()
    {
        using var directory = new TempDirectory();
        using var outside = new TempDirectory();
        File.WriteAllText(Path.Combine(outside.Path, "keep"), "not ours");
        var tree = Path.Combine(directory.Path, "tree");
        Directory.CreateDirectory(Path.Combine(tree, "a", "b"));
        File.WriteAllText(Path.Combine(tree, "a", "b", "file"), "x");
        File.CreateSymbolicLink(Path.Combine(tree, "a", "out"), outside.Path);

        AtomicFile.DeleteTree(tree, noSymlinks: true);
        AtomicFile.DeleteTree(tree, noSymlinks: true);

        Assert.IsFalse(Directory.Exists(tree));
        Assert.AreEqual("not ours", File.ReadAllText(Path.Combine(outside.Path, "keep")));
    }

    [TestMethod]
    public void Rename_in_place_and_lock_refuse_a_link_on_the_way_and_write_nothing_through_it()
    {
        using var directory = new TempDirectory();
        using var outside = new TempDirectory();
        File.WriteAllText(Path.Combine(outside.Path, "value"), "1\n");
        File.WriteAllText(Path.Combine(outside.Path, "from"), "new");
        var linked = Path.Combine(directory.Path, "linked");
        File.CreateSymbolicLink(linked, outside.Path);

        var rename = Assert.ThrowsExactly<IOException>(() => AtomicFile.Rename(Path.Combine(linked, "from"), Path.Combine(linked, "to"), noSymlinks: true));
        StringAssert.Contains(rename.Message, $"{linked} is not the directory it was when checked");
        Assert.ThrowsExactly<IOException>(() => AtomicFile.WriteInPlace(Path.Combine(linked, "value"), "2\n"u8, noSymlinks: true));
        Assert.ThrowsExactly<IOException>(() => AtomicFile.TryLock(Path.Combine(linked, "agent.lock"), noSymlinks: true));

        CollectionAssert.AreEquivalent(new[] { "from", "value" }, Directory.GetFiles(outside.Path).Select(Path.GetFileName).ToArray());
        Assert.AreEqual("1\n", File.ReadAllText(Path.Combine(outside.Path, "value")));
    }

    [TestMethod]
    public void A_held_lock_is_refused_to_a_second_taker_until_it_is_released()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "agent.lock");

        var first = AtomicFile.TryLock(path, noSymlinks: true);
        Assert.IsNotNull(first);
        Assert.IsNull(AtomicFile.TryLock(path, noSymlinks: true), "held");
        first.Dispose();
        using var again = AtomicFile.TryLock(path, noSymlinks: true);

        Assert.IsNotNull(again, "released with its handle");
        Assert.AreEqual((UnixFileMode)0b110_000_000, AtomicFile.Stat(path)!.Mode);
    }

    [TestMethod]
    public void Write_in_place_overwrites_the_file_itself_and_refuses_a_link_there()
    {
        using var directory = new TempDirectory();
        var value = Path.Combine(directory.Path, "tcp_keepalive_time");
        File.WriteAllText(value, "7200\n");
        var link = Path.Combine(directory.Path, "link");
        File.CreateSymbolicLink(link, value);

        AtomicFile.WriteInPlace(value, "600\n"u8, noSymlinks: true);
        var refused = Assert.ThrowsExactly<IOException>(() => AtomicFile.WriteInPlace(link, "1\n"u8, noSymlinks: true));

        Assert.AreEqual("600\n", File.ReadAllText(value));
        StringAssert.Contains(refused.Message, link);
    }
}
