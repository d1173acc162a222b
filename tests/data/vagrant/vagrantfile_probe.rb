# Load a Vagrantfile without Vagrant and print, as JSON, what it configured.
#
# Usage: ruby vagrantfile_probe.rb PATH/TO/Vagrantfile
#
# Why: these machines cannot run VMs, and `vagrant validate` only says "valid". This stand-in
# for Vagrant.configure records every setting and call (box, providers, each machine's
# network and provisioners with their environment) so that tests can check what the
# Vagrantfile would do. Blocks passed to `ruby` (trigger code) are recorded, never run.
require "json"

class ConfigRecorder
  def initialize
    @data = {}
    @calls = []
  end

  def to_h
    out = @data.transform_values { |v| v.is_a?(ConfigRecorder) ? v.to_h : v }
    out["_calls"] = @calls unless @calls.empty?
    out
  end

  def respond_to_missing?(_name, _include_private = false)
    true
  end

  def method_missing(name, *args, **kwargs, &block)
    key = name.to_s
    if key.end_with?("=")
      @data[key.chomp("=")] = args.first
      return args.first
    end
    if args.empty? && kwargs.empty? && block.nil?
      @data[key] ||= ConfigRecorder.new
      return @data[key]
    end
    call = { "method" => key, "args" => args.map { |a| a.is_a?(Symbol) ? a.to_s : a }, "options" => kwargs.transform_keys(&:to_s) }
    if block && key != "ruby"
      inner = ConfigRecorder.new
      block.call(inner)
      call["block"] = inner.to_h
    end
    @calls << call
    nil
  end
end

module Vagrant
  @recorded = []

  def self.configure(version)
    config = ConfigRecorder.new
    yield config
    @recorded << { "version" => version, "config" => config.to_h }
  end

  def self.recorded
    @recorded
  end
end

load File.expand_path(ARGV.fetch(0))
puts JSON.pretty_generate(Vagrant.recorded)
