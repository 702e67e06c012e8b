import XenControl
